"""The sample model mounts, reads back byte-identical, and unmounts cleanly."""
from safetensors import safe_open

from conftest import is_mounted


def test_every_tensor_of_the_sample_model_reads_back_byte_identical(mounts, sample_model):
    mountpoint = mounts.mount(sample_model)
    with safe_open(str(sample_model), "np") as reference:
        for name in reference.keys():
            path = mountpoint / name.replace(".", "/")
            assert path.read_bytes() == reference.get_tensor(name).tobytes(), name


def test_unmount_leaves_nothing_mounted(mounts, sample_model):
    mountpoint = mounts.mount(sample_model)
    mounts.unmount(mountpoint)
    assert not is_mounted(mountpoint)
