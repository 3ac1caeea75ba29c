"""Theory to compare simulations against: closed forms and limit laws of
attention over ``n`` random keys, by regime (one private module per concept).

One convention throughout: a function about a law takes ``d_or_law``, a law or
an int ``d`` as shorthand for ``UniformSphere(d)`` (closed forms that hold for
uniform keys only take ``UniformSphere(d)`` and reject other laws); functions of
the ``n -> inf`` limit take ``gamma = beta / n^{1/a}``; every value is a JAX
array of the default float dtype (0-d for a scalar)."""

from ._exact import exact_critical_beta as exact_critical_beta
from ._exact import exact_mean_max_weight as exact_mean_max_weight
from ._exact import finite_size_factors as finite_size_factors
from ._exponents import critical_exponent as critical_exponent
from ._heat import heat_displacement as heat_displacement
from ._heat import heat_flow_mean_resultant as heat_flow_mean_resultant
from ._heat import heat_output as heat_output
from ._mean_field import OutputCovariance as OutputCovariance
from ._mean_field import log_partition as log_partition
from ._mean_field import mean_field_entropy as mean_field_entropy
from ._mean_field import mean_resultant as mean_resultant
from ._mean_field import output_covariance as output_covariance
from ._mean_field import output_mean as output_mean
from ._poisson import critical_beta as critical_beta
from ._poisson import critical_constant as critical_constant
from ._poisson import finite_size_coefficient as finite_size_coefficient
from ._poisson import gap_expansion as gap_expansion
from ._poisson import limit_intensity as limit_intensity
from ._poisson import limit_mean_max_weight as limit_mean_max_weight
from ._poisson import sample_limit_entropy as sample_limit_entropy
from ._poisson import sample_limit_weights as sample_limit_weights
from ._score import score_log_cdf as score_log_cdf
from ._score import score_log_density as score_log_density
from ._score import score_log_sf as score_log_sf
from ._score import score_quantile as score_quantile
from ._supercritical import supercritical_max_weight_deficit as supercritical_max_weight_deficit
from ._supercritical import supercritical_prob_max_weight_above as supercritical_prob_max_weight_above
from ._supercritical import supercritical_rate as supercritical_rate
