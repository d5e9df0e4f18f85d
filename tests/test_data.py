"""Tests for causalmia.data: the Dataset container, file loaders and synthetic data."""

import re
import zipfile

import numpy as np
import pytest

from causalmia.data import (
  DATASET_NAMES,
  Dataset,
  load_cifar10,
  load_dataset,
  load_digits,
  load_location30,
  make_ridge,
)
from conftest import SHARED_DATA_DIR

CIFAR_EXACT = SHARED_DATA_DIR / "cifar10_exact" / "cifar10_exact.npz"
CIFAR_JPEG = SHARED_DATA_DIR / "cifar10_jpeg" / "cifar10_jpeg_q75.npz"
LOCATION30 = SHARED_DATA_DIR / "location30" / "location30.npz"

needs_cifar = pytest.mark.skipif(
  not (CIFAR_EXACT.is_file() and CIFAR_JPEG.is_file()),
  reason=f"CIFAR-10 files not in {SHARED_DATA_DIR}",
)
needs_location30 = pytest.mark.skipif(
  not LOCATION30.is_file(), reason=f"Location-30 file not in {SHARED_DATA_DIR}"
)


def _cifar_arrays(num_train=6, num_test=4, seed=0):
  rng = np.random.default_rng(seed)
  return {
    "x_train": rng.integers(0, 256, size=(num_train, 32, 32, 3), dtype=np.uint8),
    "y_train": rng.integers(0, 10, size=num_train).astype(np.uint8),
    "train_index": np.arange(num_train, dtype=np.int32),
    "train_file": np.array([f"train/cat/{i:04d}.jpg" for i in range(num_train)]),
    "x_test": rng.integers(0, 256, size=(num_test, 32, 32, 3), dtype=np.uint8),
    "y_test": rng.integers(0, 10, size=num_test).astype(np.uint8),
  }


def _write_npz(path, **arrays):
  np.savez(path, **arrays)
  return path


@pytest.fixture
def cifar_file(tmp_path):
  return _write_npz(tmp_path / "cifar10_tiny.npz", **_cifar_arrays())


def _location_arrays(num_records=7, seed=0):
  rng = np.random.default_rng(seed)
  return {
    "x": rng.integers(0, 2, size=(num_records, 446)).astype(np.uint8),
    "y": rng.integers(0, 30, size=num_records).astype(np.uint8),
  }


# --- digits -----------------------------------------------------------------


def test_digits_flat_inputs():
  dataset = load_digits()
  assert dataset.inputs.shape == (1797, 64)
  assert dataset.inputs.dtype == np.float32
  assert dataset.inputs.min() == 0.0
  assert dataset.inputs.max() == 1.0
  assert dataset.num_features == 64
  assert len(dataset) == 1797
  assert dataset.name == "digits"


def test_digits_labels_cover_ten_classes():
  dataset = load_digits()
  assert dataset.num_classes == 10
  assert dataset.labels.dtype == np.int32
  assert set(np.unique(dataset.labels)) == set(range(10))


def test_digits_image_layout():
  flat = load_digits()
  images = load_digits(flatten=False)
  assert images.inputs.shape == (1797, 8, 8, 1)
  assert images.num_features == 64
  np.testing.assert_array_equal(images.inputs.reshape(1797, 64), flat.inputs)


def test_digits_covariates():
  dataset = load_digits()
  assert dataset.covariate_names == ("mean_intensity", "ink_pixels")
  assert dataset.covariates.shape == (1797, 2)
  assert dataset.covariates.dtype == np.float32
  np.testing.assert_allclose(dataset.covariates[:, 0], dataset.inputs.mean(axis=1), rtol=1e-6)
  np.testing.assert_array_equal(dataset.covariates[:, 1], (dataset.inputs > 0).sum(axis=1))


# --- CIFAR-10 from a small generated file -----------------------------------


def test_cifar_train_split(cifar_file):
  arrays = _cifar_arrays()
  dataset = load_cifar10(cifar_file)
  assert dataset.inputs.shape == (6, 32, 32, 3)
  assert dataset.inputs.dtype == np.float32
  np.testing.assert_allclose(dataset.inputs, arrays["x_train"] / 255.0, rtol=1e-6)
  np.testing.assert_array_equal(dataset.labels, arrays["y_train"])
  assert dataset.labels.dtype == np.int32
  assert dataset.num_classes == 10
  assert dataset.name == "cifar10_tiny"


def test_cifar_test_split(cifar_file):
  arrays = _cifar_arrays()
  dataset = load_cifar10(cifar_file, split="test")
  assert len(dataset) == 4
  np.testing.assert_array_equal(dataset.labels, arrays["y_test"])


def test_cifar_covariates(cifar_file):
  dataset = load_cifar10(cifar_file)
  images = dataset.inputs
  expected_names = ("mean_brightness", "contrast", "mean_red", "mean_green", "mean_blue")
  assert dataset.covariate_names == expected_names
  assert dataset.covariates.shape == (6, 5)
  np.testing.assert_allclose(dataset.covariates[:, 0], images.mean(axis=(1, 2, 3)), rtol=1e-5)
  np.testing.assert_allclose(dataset.covariates[:, 1], images.std(axis=(1, 2, 3)), rtol=1e-5)
  np.testing.assert_allclose(dataset.covariates[:, 2], images[..., 0].mean(axis=(1, 2)), rtol=1e-5)
  np.testing.assert_allclose(dataset.covariates[:, 4], images[..., 2].mean(axis=(1, 2)), rtol=1e-5)


def test_cifar_path_may_be_folder(cifar_file):
  from_folder = load_cifar10(cifar_file.parent)
  assert from_folder.name == "cifar10_tiny"
  assert len(from_folder) == 6


def test_cifar_folder_with_two_files(cifar_file):
  _write_npz(cifar_file.parent / "other.npz", **_cifar_arrays())
  pattern = r"contains 2 \.npz files \(cifar10_tiny\.npz, other\.npz\)\. Pass the path"
  with pytest.raises(ValueError, match=pattern):
    load_cifar10(cifar_file.parent)


def test_cifar_folder_without_npz(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"no \.npz file found in folder"):
    load_cifar10(tmp_path)


def test_cifar_limit_keeps_first_examples(cifar_file):
  full = load_cifar10(cifar_file)
  limited = load_cifar10(cifar_file, limit=3)
  assert len(limited) == 3
  np.testing.assert_array_equal(limited.inputs, full.inputs[:3])
  np.testing.assert_array_equal(limited.covariates, full.covariates[:3])


@pytest.mark.parametrize(
  ("limit", "message"),
  [
    (0, "limit must be a positive int"),
    (2.5, "limit must be a positive int"),
    (7, "limit=7 exceeds the 6 examples available"),
  ],
)
def test_cifar_invalid_limit(cifar_file, limit, message):
  with pytest.raises(ValueError, match=message):
    load_cifar10(cifar_file, limit=limit)


def test_cifar_unknown_split(cifar_file):
  with pytest.raises(ValueError, match=r"split must be one of \('train', 'test'\), got 'valid'"):
    load_cifar10(cifar_file, split="valid")


def test_cifar_test_split_ignores_train_arrays(tmp_path):
  arrays = _cifar_arrays()
  del arrays["x_train"]
  path = _write_npz(tmp_path / "test_only.npz", **arrays)
  assert len(load_cifar10(path, split="test")) == 4


# --- file errors --------------------------------------------------------------


def test_missing_file(tmp_path):
  path = tmp_path / "absent.npz"
  with pytest.raises(FileNotFoundError, match=rf"data file not found: .*{re.escape(path.name)}"):
    load_cifar10(path)


def test_not_a_zip_file(tmp_path):
  path = tmp_path / "text.npz"
  path.write_text("x,y\n1,2\n")
  pattern = r"text\.npz is not a valid \.npz file \(not a zip archive\)"
  with pytest.raises(ValueError, match=pattern):
    load_cifar10(path)


def test_truncated_npz_file(tmp_path, cifar_file):
  data = cifar_file.read_bytes()
  path = tmp_path / "truncated.npz"
  path.write_bytes(data[: len(data) // 2])
  with pytest.raises(ValueError, match=r"truncated\.npz is not a valid \.npz file"):
    load_cifar10(path)


def test_plain_npy_file_rejected(tmp_path):
  path = tmp_path / "array.npy"
  np.save(path, np.zeros(3))
  with pytest.raises(ValueError, match=r"array\.npy is not a valid \.npz file"):
    load_location30(path)


def test_missing_key_lists_present_keys(tmp_path):
  arrays = _cifar_arrays()
  del arrays["y_train"]
  path = _write_npz(tmp_path / "no_labels.npz", **arrays)
  pattern = (
    r"no_labels\.npz is missing the required arrays \['y_train'\]\. "
    r"The file contains \['train_file', 'train_index', 'x_test', 'x_train', 'y_test'\]"
  )
  with pytest.raises(ValueError, match=pattern):
    load_cifar10(path)


def test_wrong_number_of_dimensions(tmp_path):
  arrays = _cifar_arrays()
  arrays["x_train"] = arrays["x_train"][..., 0]
  path = _write_npz(tmp_path / "gray.npz", **arrays)
  pattern = r"array 'x_train' in .*gray\.npz has shape \(6, 32, 32\) \(3-D\), expected 4-D"
  with pytest.raises(ValueError, match=pattern):
    load_cifar10(path)


def test_wrong_image_size(tmp_path):
  arrays = _cifar_arrays()
  arrays["x_train"] = arrays["x_train"][:, :28, :28]
  path = _write_npz(tmp_path / "small.npz", **arrays)
  pattern = (
    r"array 'x_train' in .*small\.npz has shape \(6, 28, 28, 3\), "
    r"expected \(examples, 32, 32, 3\) \(axis 1 differs\)"
  )
  with pytest.raises(ValueError, match=pattern):
    load_cifar10(path)


def test_wrong_dtype_kind(tmp_path):
  arrays = _cifar_arrays()
  arrays["x_train"] = arrays["x_train"].astype(np.float32)
  path = _write_npz(tmp_path / "floats.npz", **arrays)
  pattern = r"array 'x_train' in .*floats\.npz has dtype float32, expected unsigned integer"
  with pytest.raises(ValueError, match=pattern):
    load_cifar10(path)


def test_pixels_beyond_eight_bits(tmp_path):
  arrays = _cifar_arrays()
  arrays["x_train"] = arrays["x_train"].astype(np.uint16) * 4
  path = _write_npz(tmp_path / "wide.npz", **arrays)
  with pytest.raises(ValueError, match=r"'x_train' in .*wide\.npz has values out of range"):
    load_cifar10(path)


def test_labels_out_of_range(tmp_path):
  arrays = _cifar_arrays()
  arrays["y_train"][2] = 10
  path = _write_npz(tmp_path / "bad_labels.npz", **arrays)
  pattern = (
    r"array 'y_train' in .*bad_labels\.npz has values out of range: "
    r"found \d+ to 10, expected 0 to 9"
  )
  with pytest.raises(ValueError, match=pattern):
    load_cifar10(path)


def test_negative_labels(tmp_path):
  arrays = _location_arrays()
  arrays["y"] = arrays["y"].astype(np.int64) - 1
  arrays["y"][0] = -1
  path = _write_npz(tmp_path / "negative.npz", **arrays)
  with pytest.raises(ValueError, match=r"'y' in .*negative\.npz has values out of range: found -1"):
    load_location30(path)


def test_length_mismatch(tmp_path):
  arrays = _cifar_arrays()
  arrays["y_train"] = arrays["y_train"][:5]
  path = _write_npz(tmp_path / "short_labels.npz", **arrays)
  pattern = (
    r"length mismatch in .*short_labels\.npz: "
    r"array 'x_train' has size 6 .* 'y_train' has size 5"
  )
  with pytest.raises(ValueError, match=pattern):
    load_cifar10(path)


def test_optional_array_length_checked(tmp_path):
  arrays = _cifar_arrays()
  arrays["train_index"] = arrays["train_index"][:4]
  path = _write_npz(tmp_path / "short_index.npz", **arrays)
  with pytest.raises(ValueError, match=r"length mismatch .* 'train_index' has size 4"):
    load_cifar10(path)


def test_object_array_rejected(tmp_path):
  arrays = _cifar_arrays()
  arrays["train_file"] = np.array([f"train/{i}.jpg" for i in range(6)], dtype=object)
  path = _write_npz(tmp_path / "pickled.npz", **arrays)
  pattern = r"array 'train_file' in .*pickled\.npz could not be read: .* Object arrays are rejected"
  with pytest.raises(ValueError, match=pattern):
    load_cifar10(path)


def test_object_labels_rejected(tmp_path):
  arrays = _location_arrays()
  arrays["y"] = arrays["y"].astype(object)
  path = _write_npz(tmp_path / "pickled_labels.npz", **arrays)
  pattern = r"array 'y' in .*pickled_labels\.npz could not be read: .* Object arrays are rejected"
  with pytest.raises(ValueError, match=pattern):
    load_location30(path)


def test_corrupt_member_data(tmp_path):
  path = tmp_path / "corrupt.npz"
  np.savez_compressed(path, **_location_arrays(num_records=500))
  data = bytearray(path.read_bytes())
  # Flipping bytes inside the first member's compressed data breaks its CRC but keeps the zip index.
  for position in range(200, 300):
    data[position] ^= 0xFF
  path.write_bytes(bytes(data))
  with pytest.raises(ValueError, match=r"array 'x' in .*corrupt\.npz is corrupt"):
    load_location30(path)


def test_zip_member_not_npy(tmp_path):
  path = tmp_path / "plain.npz"
  with zipfile.ZipFile(path, "w") as archive:
    archive.writestr("x.npy", b"not an array")
    archive.writestr("y.npy", b"not an array")
  with pytest.raises(ValueError, match=r"member 'x' of .*plain\.npz is not a \.npy array"):
    load_location30(path)


# --- Location-30 from a small generated file ----------------------------------


def test_location30_from_file(tmp_path):
  arrays = _location_arrays()
  path = _write_npz(tmp_path / "location30_tiny.npz", **arrays)
  dataset = load_location30(path)
  assert dataset.inputs.shape == (7, 446)
  assert dataset.inputs.dtype == np.float32
  assert dataset.num_classes == 30
  assert dataset.name == "location30_tiny"
  assert dataset.covariate_names == ("active_features",)
  np.testing.assert_array_equal(dataset.covariates[:, 0], arrays["x"].sum(axis=1))


def test_location30_non_binary_features(tmp_path):
  arrays = _location_arrays()
  arrays["x"][3, 5] = 2
  path = _write_npz(tmp_path / "counts.npz", **arrays)
  pattern = r"'x' in .*counts\.npz has values out of range: found 0 to 2, expected 0 to 1"
  with pytest.raises(ValueError, match=pattern):
    load_location30(path)


def test_location30_wrong_feature_count(tmp_path):
  arrays = _location_arrays()
  arrays["x"] = arrays["x"][:, :400]
  path = _write_npz(tmp_path / "narrow.npz", **arrays)
  with pytest.raises(ValueError, match=r"has shape \(7, 400\), expected \(records, 446\)"):
    load_location30(path)


# --- real files, when present -----------------------------------------------


@needs_cifar
def test_real_cifar_exact_shapes():
  train = load_cifar10(CIFAR_EXACT)
  test = load_cifar10(CIFAR_EXACT, split="test")
  assert train.inputs.shape == (4000, 32, 32, 3)
  assert test.inputs.shape == (1000, 32, 32, 3)
  assert 0.0 <= train.inputs.min() <= train.inputs.max() <= 1.0
  assert set(np.unique(train.labels)) == set(range(10))


@needs_cifar
def test_real_cifar_variants_named_apart():
  exact = load_cifar10(CIFAR_EXACT, limit=100)
  jpeg = load_cifar10(CIFAR_JPEG.parent, limit=100)
  assert exact.name == "cifar10_exact"
  assert jpeg.name == "cifar10_jpeg_q75"
  assert len(exact) == 100
  assert len(jpeg) == 100
  assert jpeg.covariates.shape == (100, 5)


@needs_location30
def test_real_location30_shapes():
  dataset = load_location30(LOCATION30)
  assert dataset.inputs.shape == (5010, 446)
  assert set(np.unique(dataset.inputs)) == {0.0, 1.0}
  assert set(np.unique(dataset.labels)) == set(range(30))


# --- Dataset validation -------------------------------------------------------


def _valid_fields(num_examples=5):
  return {
    "inputs": np.zeros((num_examples, 3), np.float32),
    "labels": np.arange(num_examples) % 2,
    "num_classes": 2,
    "name": "toy",
    "covariates": np.ones((num_examples, 2)),
    "covariate_names": ("a", "b"),
  }


@pytest.mark.parametrize(
  ("changes", "message"),
  [
    ({"labels": np.zeros(4, int)}, r"labels has 4 entries but inputs has 5 examples"),
    ({"labels": np.zeros((5, 1), int)}, r"labels must be 1-D"),
    ({"labels": np.array([0, 1, 2, 0, 1])}, r"labels must lie in \[0, 2\), got values from 0 to 2"),
    (
      {"labels": np.array([0, -1, 1, 0, 1])},
      r"labels must lie in \[0, 2\), got values from -1 to 1",
    ),
    ({"labels": np.zeros(5, np.float32)}, r"labels must be integer class ids when num_classes=2"),
    ({"inputs": np.full((5, 3), np.nan)}, r"inputs contains 15 non-finite values"),
    ({"inputs": np.array([[np.inf, 0, 0]] * 5)}, r"inputs contains 5 non-finite values"),
    (
      {"inputs": np.zeros(5)},
      r"inputs must have shape \[examples, \.\.\.features\], got shape \(5,\)",
    ),
    ({"inputs": np.full((5, 3), "a")}, r"inputs must be real numbers, got dtype <U1"),
    ({"covariates": np.ones(5), "covariate_names": ("a",)}, r"covariates must be 2-D"),
    ({"covariates": np.ones((4, 2))}, r"covariates has 4 rows but inputs has 5 examples"),
    ({"covariates": np.full((5, 2), np.nan)}, r"covariates contains 10 non-finite values"),
    ({"covariate_names": ("a",)}, r"covariate_names has 1 names but covariates has 2 columns"),
    ({"covariate_names": ("a", "a")}, r"covariate_names must be unique"),
    ({"covariates": None}, r"covariate_names is \('a', 'b'\) but covariates is None"),
    ({"num_classes": 1}, r"num_classes must be at least 2, got 1"),
    ({"num_classes": 2.0}, r"num_classes must be an int or None"),
    ({"name": ""}, r"name must be a non-empty string"),
  ],
)
def test_dataset_rejects_invalid_field(changes, message):
  fields = _valid_fields() | changes
  with pytest.raises(ValueError, match=message):
    Dataset(**fields)


def test_dataset_rejects_non_finite_regression_labels():
  fields = _valid_fields() | {"num_classes": None, "labels": np.array([0.0, np.nan, 1, 2, 3])}
  with pytest.raises(ValueError, match=r"labels contains 1 non-finite values"):
    Dataset(**fields)


def test_dataset_converts_dtypes():
  changes = {"inputs": np.zeros((5, 3), np.float64), "labels": np.zeros(5, np.uint8)}
  fields = _valid_fields() | changes
  dataset = Dataset(**fields)
  assert dataset.inputs.dtype == np.float32
  assert dataset.labels.dtype == np.int32
  assert dataset.covariates.dtype == np.float32
  assert dataset.num_features == 3


def test_dataset_regression_labels_float32():
  fields = _valid_fields() | {"num_classes": None, "labels": np.arange(5)}
  dataset = Dataset(**fields)
  assert dataset.labels.dtype == np.float32
  assert dataset.is_regression


def test_dataset_is_frozen():
  dataset = Dataset(**_valid_fields())
  with pytest.raises(AttributeError):
    dataset.name = "other"


def test_dataset_repr_shows_shapes():
  assert repr(Dataset(**_valid_fields())) == (
    "Dataset(name='toy', inputs=(5, 3), num_classes=2, covariates=(5, 2))"
  )


def test_num_features_of_images():
  dataset = Dataset(
    inputs=np.zeros((2, 4, 4, 3)), labels=np.zeros(2, int), num_classes=10, name="images"
  )
  assert dataset.num_features == 48


# --- Dataset.subset -------------------------------------------------------------


def _numbered_dataset():
  return Dataset(
    inputs=np.arange(10, dtype=np.float32).reshape(5, 2),
    labels=np.array([0, 1, 2, 0, 1]),
    num_classes=3,
    name="numbered",
    covariates=np.arange(5, dtype=np.float32)[:, None],
    covariate_names=("position",),
  )


def test_subset_by_indices():
  part = _numbered_dataset().subset([4, 0, 0])
  np.testing.assert_array_equal(part.inputs, [[8, 9], [0, 1], [0, 1]])
  np.testing.assert_array_equal(part.labels, [1, 0, 0])
  np.testing.assert_array_equal(part.covariates[:, 0], [4, 0, 0])
  assert part.name == "numbered"
  assert part.num_classes == 3
  assert part.covariate_names == ("position",)


def test_subset_by_mask_and_slice():
  dataset = _numbered_dataset()
  mask = np.array([True, False, True, False, False])
  np.testing.assert_array_equal(dataset.subset(mask).labels, [0, 2])
  np.testing.assert_array_equal(dataset.subset(slice(1, 3)).labels, [1, 2])


def test_subset_empty():
  part = _numbered_dataset().subset([])
  assert len(part) == 0
  assert part.inputs.shape == (0, 2)


def test_subset_rejects_bad_index():
  dataset = _numbered_dataset()
  with pytest.raises(ValueError, match=r"subset index must be 1-D, got shape \(\)"):
    dataset.subset(2)
  pattern = r"subset index must contain integers or booleans, got dtype float64"
  with pytest.raises(ValueError, match=pattern):
    dataset.subset(np.array([0.0, 1.0]))
  with pytest.raises(IndexError):
    dataset.subset(np.array([True, False]))


# --- make_ridge -----------------------------------------------------------------


def test_ridge_same_seed_identical():
  first, first_weights = make_ridge(3, num_examples=50, num_features=6)
  second, second_weights = make_ridge(3, num_examples=50, num_features=6)
  np.testing.assert_array_equal(first.inputs, second.inputs)
  np.testing.assert_array_equal(first.labels, second.labels)
  np.testing.assert_array_equal(first_weights, second_weights)


def test_ridge_different_seed_differs():
  first, first_weights = make_ridge(3, num_examples=50, num_features=6)
  second, second_weights = make_ridge(4, num_examples=50, num_features=6)
  assert not np.array_equal(first.inputs, second.inputs)
  assert not np.array_equal(first.labels, second.labels)
  assert not np.array_equal(first_weights, second_weights)


def test_ridge_fields():
  dataset, weights = make_ridge(0, num_examples=20, num_features=7)
  assert dataset.inputs.shape == (20, 7)
  assert dataset.inputs.dtype == np.float32
  assert dataset.labels.dtype == np.float32
  assert dataset.num_classes is None
  assert dataset.name == "ridge"
  assert weights.shape == (7,)
  assert dataset.covariate_names == ("x0", "x1", "x2", "x3")
  np.testing.assert_array_equal(dataset.covariates, dataset.inputs[:, :4])


def test_ridge_covariates_with_few_features():
  dataset, _ = make_ridge(0, num_examples=10, num_features=2)
  assert dataset.covariate_names == ("x0", "x1")
  assert dataset.covariates.shape == (10, 2)


def test_ridge_noise_level():
  dataset, weights = make_ridge(1, num_examples=20_000, num_features=8, noise_std=0.5)
  residuals = dataset.labels - dataset.inputs @ weights
  # The standard error of the std of 20,000 normal draws is about 0.5 / sqrt(40,000) = 0.0025.
  assert abs(residuals.std() - 0.5) < 0.02


def test_ridge_without_noise_is_exact():
  dataset, weights = make_ridge(2, num_examples=30, num_features=5, noise_std=0.0)
  np.testing.assert_allclose(dataset.labels, dataset.inputs @ weights, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
  ("arguments", "message"),
  [
    ({"num_examples": 0, "num_features": 3}, r"num_examples must be a positive int, got 0"),
    ({"num_examples": 5, "num_features": 2.0}, r"num_features must be a positive int, got 2\.0"),
    (
      {"num_examples": 5, "num_features": 3, "noise_std": -1.0},
      r"noise_std must be a finite number >= 0",
    ),
    (
      {"num_examples": 5, "num_features": 3, "weight_std": np.inf},
      r"weight_std must be a finite number >= 0",
    ),
  ],
)
def test_ridge_rejects_invalid_arguments(arguments, message):
  with pytest.raises(ValueError, match=message):
    make_ridge(0, **arguments)


# --- load_dataset -----------------------------------------------------------------


def test_load_dataset_builtin_names():
  assert DATASET_NAMES == ("cifar10", "digits", "location30", "ridge")
  assert load_dataset("digits", flatten=False).inputs.shape == (1797, 8, 8, 1)
  ridge = load_dataset("ridge", seed=5, num_examples=12, num_features=3)
  expected, _ = make_ridge(5, num_examples=12, num_features=3)
  np.testing.assert_array_equal(ridge.labels, expected.labels)


def test_load_dataset_file_names(cifar_file, tmp_path):
  cifar = load_dataset("cifar10", cifar_file, split="test", limit=2)
  assert len(cifar) == 2
  location_path = _write_npz(tmp_path / "location30.npz", **_location_arrays())
  assert load_dataset("location30", location_path).num_classes == 30


def test_load_dataset_unknown_name():
  pattern = r"unknown dataset 'mnist'\. Known datasets: cifar10, digits, location30, ridge"
  with pytest.raises(ValueError, match=pattern):
    load_dataset("mnist")


@pytest.mark.parametrize("name", ["cifar10", "location30"])
def test_load_dataset_needs_path(name):
  with pytest.raises(ValueError, match=rf"dataset '{name}' needs a data file: set path"):
    load_dataset(name)


def test_load_dataset_rejects_path_for_builtin(tmp_path):
  pattern = r"dataset 'digits' is not read from a file, so path must be None"
  with pytest.raises(ValueError, match=pattern):
    load_dataset("digits", tmp_path)
