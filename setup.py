"""The optional C extension of the two-group Newton solver (everything else is in
pyproject.toml). Without a compiler the install goes on with the pure-Python solver, which
gives the same bits (``lpm.solvers.two_groups.COMPILED`` says which one runs)."""

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

#: bit-identical to the Python route: no fused multiply-add, no reassociation, no sin and
#: cos of one argument merged into a sincos call (gcc and clang; MSVC's default,
#: /fp:precise, does not contract)
STRICT_FLOATS = [
    "-O2",
    "-ffp-contract=off",
    "-fno-fast-math",
    "-fno-builtin-sin",
    "-fno-builtin-cos",
    "-fno-builtin-sincos",
]


class BuildExt(build_ext):
    def build_extensions(self):
        if self.compiler.compiler_type != "msvc":
            for ext in self.extensions:
                ext.extra_compile_args = STRICT_FLOATS + list(ext.extra_compile_args or [])
        super().build_extensions()


setup(
    ext_modules=[
        Extension(
            "lpm.solvers._two_group_newton", ["lpm/solvers/_two_group_newton.c"], optional=True
        )
    ],
    cmdclass={"build_ext": BuildExt},
)
