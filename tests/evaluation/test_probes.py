import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

from simvae.evaluation.probes import (
    NeighbourIndex,
    cluster_accuracy,
    cosine_neighbours,
    gmm_clustering,
    knn_probe,
    standardise,
    train_probe,
)


def blobs(n_per_class=60, classes=3, dim=4, spread=0.3, seed=0):
    centres = torch.randn(classes, dim, generator=torch.Generator().manual_seed(42)) * 3  # shared by every split
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(classes).repeat_interleave(n_per_class)
    features = centres[labels] + spread * torch.randn(len(labels), dim, generator=generator)
    return features, labels


def splits(**kwargs):
    out_x, out_y = {}, {}
    for i, split in enumerate(("train", "val", "test")):
        out_x[split], out_y[split] = blobs(seed=i, **kwargs)
    return out_x, out_y


def test_cluster_accuracy_matches_labels_up_to_renaming():
    truth = np.array([0, 0, 1, 1, 2, 2])
    assert cluster_accuracy(truth, np.array([2, 2, 0, 0, 1, 1])) == 1.0
    assert cluster_accuracy(truth, np.array([1, 1, 1, 0, 2, 2])) == pytest.approx(5 / 6)


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_probes_separate_separable_data_and_fail_on_noise(kind):
    x, y = splits()
    assert train_probe(kind, x, y, 3, epochs=30, lr=1e-2, batch_size=32, seed=0)["test"] > 0.95
    noise = {s: torch.randn_like(v) for s, v in x.items()}
    assert train_probe(kind, noise, y, 3, epochs=30, lr=1e-2, batch_size=32, seed=0)["test"] < 0.6


def test_probe_keeps_the_epoch_chosen_on_validation():
    x, y = splits()
    result = train_probe("linear", x, y, 3, epochs=5, lr=1e-2, batch_size=32, seed=0)
    assert 1 <= result["epoch"] <= 5 and 0 <= result["val"] <= 1


def test_knn_agrees_with_scikit_learn_for_every_k():
    x, y = splits(spread=2.0)
    index = NeighbourIndex(x, k_max=7)
    for k in (1, 3, 7):
        reference = KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute").fit(x["train"], y["train"])
        ours = index.predict(y["train"].numpy(), "test", k, 3)
        assert (ours == reference.predict(x["test"])).mean() > 0.97  # ties may break differently
    result = knn_probe(index, y, 3, [1, 3, 7])
    assert result["k"] in (1, 3, 7) and 0 <= result["test"] <= 1


def test_gmm_recovers_well_separated_clusters():
    x, y = splits(spread=0.2)
    result = gmm_clustering(x, y, 3, n_init=2, max_train=1000, seed=0)
    assert result["test"] > 0.95 and result["nmi"] > 0.9 and result["ari"] > 0.9


def test_standardise_uses_training_statistics_only():
    train, test = torch.randn(100, 3) * 5 + 2, torch.randn(10, 3)
    a, b = standardise(train, test)
    torch.testing.assert_close(a.mean(0), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(b, (test - train.mean(0)) / train.std(0))


def test_nmi_and_ari_come_from_scikit_learn_definitions():
    truth, assigned = np.array([0, 0, 1, 1]), np.array([1, 1, 0, 1])
    assert normalized_mutual_info_score(truth, assigned) < 1 and adjusted_rand_score(truth, assigned) < 1


def test_best_over_test_is_the_official_optimistic_selection():
    x, y = splits(spread=1.5)
    result = train_probe("linear", x, y, 3, epochs=8, lr=1e-2, batch_size=32, seed=0)
    assert result["best_test"] >= result["test"]
    # when validation *is* the test split, selecting on it is selecting on test: the two numbers agree
    same_x, same_y = {**x, "val": x["test"]}, {**y, "val": y["test"]}
    result = train_probe("linear", same_x, same_y, 3, epochs=8, lr=1e-2, batch_size=32, seed=0)
    assert result["best_test"] == result["test"]
    index = NeighbourIndex(x, k_max=7)
    per_k = [(index.predict(y["train"].numpy(), "test", k, 3) == y["test"].numpy()).mean() for k in (1, 3, 7)]
    assert knn_probe(index, y, 3, [1, 3, 7])["best_test"] == pytest.approx(max(per_k))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_torch_cosine_neighbours_are_scikit_learns_in_order(dtype):
    x, _ = splits(spread=2.0)
    search = NearestNeighbors(n_neighbors=7, metric="cosine", algorithm="brute").fit(x["train"].double().numpy())
    reference = search.kneighbors(x["test"].double().numpy(), return_distance=False)
    ours = cosine_neighbours(x["train"].to(dtype), x["test"].to(dtype), 7, chunk=50)  # several chunks
    assert (ours == reference).all()


def test_probes_on_a_device_keep_the_cpu_selection():
    x, y = splits(spread=1.5)
    on_cpu = train_probe("mlp", x, y, 3, epochs=4, lr=1e-2, batch_size=32, seed=0)
    assert train_probe("mlp", x, y, 3, epochs=4, lr=1e-2, batch_size=32, seed=0, device="cpu") == on_cpu
    index = NeighbourIndex(x, k_max=7, device=torch.device("cpu"))
    assert knn_probe(index, y, 3, [1, 3, 7]) == knn_probe(NeighbourIndex(x, k_max=7), y, 3, [1, 3, 7])
