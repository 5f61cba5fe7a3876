import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

from simvae.evaluation.probes import NeighbourIndex, cosine_neighbours, knn_probe


def test_knn_agrees_with_scikit_learn_for_every_k(splits):
    x, y = splits(spread=2.0)
    index = NeighbourIndex(x, k_max=7)
    for k in (1, 3, 7):
        reference = KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute").fit(x["train"], y["train"])
        ours = index.predict(y["train"].numpy(), "test", k, 3)
        assert (ours == reference.predict(x["test"])).mean() > 0.97  # ties may break differently
    result = knn_probe(index, y, 3, [1, 3, 7])
    assert result["k"] in (1, 3, 7) and 0 <= result["test"] <= 1


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_torch_cosine_neighbours_are_scikit_learns_in_order(splits, dtype):
    x, _ = splits(spread=2.0)
    search = NearestNeighbors(n_neighbors=7, metric="cosine", algorithm="brute").fit(x["train"].double().numpy())
    reference = search.kneighbors(x["test"].double().numpy(), return_distance=False)
    ours = cosine_neighbours(x["train"].to(getattr(torch, dtype)), x["test"].to(getattr(torch, dtype)), 7, chunk=50)
    assert (ours == reference).all()


def test_best_over_test_is_the_best_k_on_test(splits):
    x, y = splits(spread=1.5)
    index = NeighbourIndex(x, k_max=7)
    per_k = [(index.predict(y["train"].numpy(), "test", k, 3) == y["test"].numpy()).mean() for k in (1, 3, 7)]
    assert knn_probe(index, y, 3, [1, 3, 7])["best_test"] == pytest.approx(max(per_k))


def test_k_larger_than_the_training_split_is_capped(splits):
    x, y = splits(6, spread=0.3)
    result = knn_probe(NeighbourIndex(x, k_max=100), y, 3, [1, 5, 100])
    assert result["k"] <= 6 and result["test"] > 0
