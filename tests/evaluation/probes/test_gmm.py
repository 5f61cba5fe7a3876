import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from simvae.evaluation.probes import cluster_accuracy, gmm_clustering


def test_cluster_accuracy_matches_labels_up_to_renaming():
    truth = np.array([0, 0, 1, 1, 2, 2])
    assert cluster_accuracy(truth, np.array([2, 2, 0, 0, 1, 1])) == 1.0
    assert cluster_accuracy(truth, np.array([1, 1, 1, 0, 2, 2])) == pytest.approx(5 / 6)


def test_gmm_recovers_well_separated_clusters(splits):
    x, y = splits(spread=0.2)
    result = gmm_clustering(x, y, 3, n_init=2, max_train=1000, seed=0)
    assert result["test"] > 0.95 and result["nmi"] > 0.9 and result["ari"] > 0.9
    truth = y["test"].numpy()  # NMI and ARI are scikit-learn's, on the Hungarian-free assignments
    assert result["nmi"] == pytest.approx(normalized_mutual_info_score(truth, truth), abs=0.1)
    assert result["ari"] == pytest.approx(adjusted_rand_score(truth, truth), abs=0.1)


def test_gmm_fits_when_max_train_is_below_the_number_of_classes(splits):
    x, y = splits(spread=0.2)
    assert 0 <= gmm_clustering(x, y, 3, n_init=1, max_train=1, seed=0)["test"] <= 1
