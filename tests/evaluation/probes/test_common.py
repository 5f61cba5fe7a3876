import torch

from simvae.evaluation.probes import standardise, thin_validation, unmeasurable


def test_standardise_uses_training_statistics_only():
    train, test = torch.randn(100, 3) * 5 + 2, torch.randn(10, 3)
    a, b = standardise(train, test)
    torch.testing.assert_close(a.mean(0), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(b, (test - train.mean(0)) / train.std(0))


def test_a_task_with_one_training_class_is_not_measurable():
    labels = {"train": torch.zeros(10, dtype=torch.long), "val": torch.tensor([0, 1]), "test": torch.tensor([0, 1])}
    assert "1 class" in unmeasurable(labels)
    assert unmeasurable({**labels, "train": torch.tensor([0, 1, 1])}) is None


def test_a_validation_split_with_fewer_than_five_images_per_class_is_thin():
    assert thin_validation({"val": torch.zeros(14)}, classes=3)
    assert not thin_validation({"val": torch.zeros(15)}, classes=3)
