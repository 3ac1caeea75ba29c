"""Theory to compare simulations against: closed forms and limit laws of
attention over ``n`` random keys, by regime (one private module per concept)."""

from ._exact import exact_critical_beta as exact_critical_beta
from ._exact import exact_mean_max_weight as exact_mean_max_weight
from ._exact import finite_size_factors as finite_size_factors
from ._exponents import critical_exponent as critical_exponent
from ._poisson import critical_beta as critical_beta
from ._poisson import critical_constant as critical_constant
from ._poisson import finite_size_coefficient as finite_size_coefficient
from ._poisson import gap_expansion as gap_expansion
from ._poisson import limit_intensity as limit_intensity
from ._poisson import limit_mean_max_weight as limit_mean_max_weight
from ._poisson import sample_limit_entropy as sample_limit_entropy
from ._poisson import sample_limit_weights as sample_limit_weights
