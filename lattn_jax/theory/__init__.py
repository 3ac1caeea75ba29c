"""Theory to compare simulations against: closed forms and limit laws of
attention over ``n`` random keys, by regime (one private module per concept)."""

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
from ._score import score_log_cdf as score_log_cdf
from ._score import score_log_density as score_log_density
from ._score import score_log_sf as score_log_sf
from ._score import score_quantile as score_quantile
from ._supercritical import expected_max_weight_deficit as expected_max_weight_deficit
from ._supercritical import prob_max_weight_above as prob_max_weight_above
from ._supercritical import supercritical_rate as supercritical_rate
