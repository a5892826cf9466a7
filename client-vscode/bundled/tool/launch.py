"""Start keras-migrate from the libraries the VS Code extension ships (``bundled/libs``).

The extension runs it as ``<python> -I <ext>/bundled/tool/launch.py server`` (or ``run ...``,
``--probe``) with a working directory outside the workspace. ``-I`` keeps the working
directory, this script's folder, ``PYTHONPATH`` and the user's site-packages off
``sys.path``; this script then puts the bundled libraries first, so the server never
imports anything from the user's project or environment except the standard library.

``--probe`` prints one JSON line (keras-migrate's version, the Python version, where the
package was imported from) for the extension's start-up check. Only the standard library is
imported before ``sys.path`` is set.
"""
import json
import os
import sys
import sysconfig

MIN = (3, 10)


def _fail(message):
    sys.stderr.write("keras-migrate: " + message + "\n")
    sys.exit(3)


def _bundled_paths():
    libs = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "libs")
    tag = "cp%d%d" % sys.version_info[:2]
    here = sys.version.split()[0]
    if sys.version_info[:2] < MIN:
        _fail("Python %s at %s is too old: keras-migrate needs Python 3.10 or newer "
              "(set keras-migrate.interpreter)" % (here, sys.executable))
    if sys.implementation.name != "cpython" or sysconfig.get_config_var("Py_GIL_DISABLED"):
        _fail("the bundled libraries are built for CPython with the GIL; %s %s at %s is not supported "
              "(set keras-migrate.interpreter, or keras-migrate.importStrategy: fromEnvironment)"
              % (sys.implementation.name, here, sys.executable))
    native = os.path.join(libs, tag)
    if not os.path.isdir(native):
        have = sorted(n for n in os.listdir(libs) if n.startswith("cp")) if os.path.isdir(libs) else []
        _fail("this extension bundles libraries for %s, not for Python %s at %s "
              "(set keras-migrate.interpreter to one of those, or keras-migrate.importStrategy: "
              "fromEnvironment)" % (", ".join("3." + n[3:] for n in have) or "no Python", here, sys.executable))
    return [native, libs]


def _pin_package(paths):
    """keras_migrate is a namespace package (PEP 420: its two source roots merge when
    installed), so a keras_migrate/ folder anywhere on sys.path, the interpreter's own
    site-packages included, would join it. The bundled copy is made the only one."""
    import importlib.machinery
    import importlib.util

    spec = importlib.machinery.ModuleSpec("keras_migrate", None, is_package=True)
    spec.submodule_search_locations = [os.path.join(p, "keras_migrate") for p in paths
                                       if os.path.isdir(os.path.join(p, "keras_migrate"))]
    sys.modules["keras_migrate"] = importlib.util.module_from_spec(spec)


def main(argv):
    paths = _bundled_paths()
    sys.path[0:0] = paths
    _pin_package(paths)
    from keras_migrate import version

    where = os.path.realpath(version.__file__)
    if not any(where.startswith(os.path.realpath(p) + os.sep) for p in paths):
        _fail("keras_migrate was imported from %s, not from the bundled libraries" % where)
    if argv[:1] == ["--probe"]:
        sys.stdout.write(json.dumps({
            "version": version.__version__,
            "python": sys.version.split()[0],
            "executable": sys.executable,
            "location": os.path.dirname(where),
            "bundled": True,
        }) + "\n")
        return 0
    from keras_migrate.__main__ import _main

    return _main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
