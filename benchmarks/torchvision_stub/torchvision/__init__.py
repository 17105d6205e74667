# Stub for the benchmark only: the PyPI torchvision wheel does not load with this local torch
# wheel, and timm imports (but the convnext model does not use) torchvision names. Every
# torchvision.* submodule is an empty module whose attributes are placeholder classes.
import importlib.abc, importlib.machinery, sys, types

class _Meta(type):
    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return name

class _Placeholder(metaclass=_Meta):
    def __init__(self, *a, **k):
        raise RuntimeError("torchvision stub")

class _Module(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return type(name, (_Placeholder,), {})

class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname.startswith("torchvision."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None
    def create_module(self, spec):
        m = _Module(spec.name)
        m.__path__ = []
        return m
    def exec_module(self, module):
        pass

sys.meta_path.insert(0, _Finder())
__version__ = "0.0-stub"
def __getattr__(name):
    return type(name, (_Placeholder,), {})
