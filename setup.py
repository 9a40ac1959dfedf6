"""The optional C extension of the two-group Newton solver (everything else is in
pyproject.toml). Without a compiler the install goes on with the pure-Python solver, which
gives the same bits (``lpm.solvers.two_groups.COMPILED`` says which one runs)."""

import pathlib
import zlib

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

#: bit-identical to the Python route: no fused multiply-add, no reassociation, no sin and
#: cos of one argument merged into a sincos call (gcc and clang)
STRICT_FLOATS = [
    "-O2",
    "-ffp-contract=off",
    "-fno-fast-math",
    "-fno-builtin-sin",
    "-fno-builtin-cos",
    "-fno-builtin-sincos",
]


#: MSVC (and clang-cl): no contraction, whatever the version's default
STRICT_FLOATS_MSVC = ["/fp:strict"]


class BuildExt(build_ext):
    def build_extensions(self):
        msvc = self.compiler.compiler_type == "msvc"
        for ext in self.extensions:
            flags = STRICT_FLOATS_MSVC if msvc else STRICT_FLOATS
            ext.extra_compile_args = flags + list(ext.extra_compile_args or [])
            # the source's hash, which lpm.solvers.compiled checks against the source it
            # finds beside the module (a stale build runs the Python route instead)
            ext.define_macros = list(ext.define_macros or []) + [
                ("LPM_SOURCE_CRC32", f'"{source_hash(ext.sources[0])}"')
            ]
            if not msvc:
                ext.libraries = list(ext.libraries or []) + ["m"]
        super().build_extensions()


def source_hash(path: str) -> str:
    """The CRC-32 of a source file in hex, as lpm.solvers.compiled computes it (to tell
    an edited source from the one built, not against tampering)."""
    return f"{zlib.crc32(pathlib.Path(path).read_bytes()):08x}"


setup(
    ext_modules=[
        Extension(
            "lpm.solvers._two_group_newton", ["lpm/solvers/_two_group_newton.c"], optional=True
        )
    ],
    cmdclass={"build_ext": BuildExt},
)
