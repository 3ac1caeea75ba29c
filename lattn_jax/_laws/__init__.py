"""Context laws: what a random context of keys is (abstract bases, the laws on
the sphere with a Beta gap law, user keys, von Mises–Fisher mixtures, the
simplex model)."""

from ._abstract import AbstractGapLaw as AbstractGapLaw
from ._abstract import AbstractLaw as AbstractLaw
from ._abstract import check_law as check_law
from ._sphere import PowerDensity as PowerDensity
from ._sphere import Subsphere as Subsphere
from ._sphere import UniformSphere as UniformSphere
from ._sphere import as_law as as_law
