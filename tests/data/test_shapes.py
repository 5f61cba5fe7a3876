import torch

from simvae.data import load_dataset
from simvae.data.shapes import FACTORS, SHAPES, generate, render


def test_generation_is_deterministic_and_seed_dependent():
    a, b, c = generate(64, seed=1), generate(64, seed=1), generate(64, seed=2)
    assert torch.equal(a.images, b.images) and torch.equal(a.content, b.content)
    assert not torch.equal(a.images, c.images)


def test_labels_cover_every_class_and_bin():
    data = generate(2000, seed=0)
    assert data.images.shape == (2000, 3, 32, 32) and data.images.dtype == torch.uint8
    assert set(data.content.tolist()) == set(range(len(SHAPES)))
    for name, (_, _, bins) in FACTORS.items():
        assert set(data.styles[name].tolist()) == set(range(bins)), name


def whiteness(image):
    """How much of each pixel is the white shape: the darkest channel, background level removed."""
    darkest = image.float().min(0).values / 255
    return (darkest - darkest.min()).clamp_min(0)


def centroid(image):
    mass = whiteness(image)
    ys, xs = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    return (mass * xs).sum() / mass.sum() + 0.5, (mass * ys).sum() / mass.sum() + 0.5


def test_rendered_shape_sits_where_its_factors_say_on_a_background_of_its_hue():
    factors = {"pos_x": torch.tensor([12.0, 20.0]), "pos_y": torch.tensor([20.0, 11.0]), "scale": torch.tensor([6.0, 6.0]),
               "rotation": torch.tensor([0.0, 30.0]), "hue": torch.tensor([0.0, 1 / 3])}
    images = render(torch.tensor([0, 0]), factors)  # squares: their centroid is their centre
    for i in range(2):
        x, y = centroid(images[i])
        assert abs(x - factors["pos_x"][i]) < 0.3 and abs(y - factors["pos_y"][i]) < 0.3
    red, green = images[0, :, 0, 0], images[1, :, 0, 0]  # a background corner pixel
    assert red.argmax() == 0 and green.argmax() == 1


def test_scale_changes_the_area():
    factors = {"pos_x": torch.tensor([16.0, 16.0]), "pos_y": torch.tensor([16.0, 16.0]), "scale": torch.tensor([5.0, 9.0]),
               "rotation": torch.tensor([0.0, 0.0]), "hue": torch.tensor([0.0, 0.0])}
    images = render(torch.tensor([0, 0]), factors)
    area = torch.stack([whiteness(image).sum() for image in images])
    assert 2.8 < area[1] / area[0] < 3.7  # (9/5)^2 = 3.24


def test_registered_dataset_has_three_splits_and_style_tasks():
    data = load_dataset("shapes", val_fraction=0.1)
    assert len(data.val) == round(0.1 * (len(data.train) + len(data.val)))
    assert set(data.num_classes) == {"content", *FACTORS}
    assert data.likelihood == "gaussian"
