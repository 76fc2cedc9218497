"""Fast smoke checks: the extension imports and reports its build."""
import fastmlp as fm


def test_build_info_keys():
    info = fm.build_info()
    for key in ("version", "compiler", "openmp", "isa"):
        assert key in info
    assert info["isa"] in ("avx512", "avx2", "generic")


def test_threads_roundtrip():
    n = fm.get_num_threads()
    try:
        fm.set_num_threads(1)
        assert fm.get_num_threads() == 1
    finally:
        fm.set_num_threads(n)
