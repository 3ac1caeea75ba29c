"""lattn-jax: the long-context limit of softmax attention, in JAX."""

import importlib.metadata

from . import theory as theory
from ._attention import attention_logits as attention_logits
from ._attention import attention_output as attention_output
from ._attention import attention_weights as attention_weights
from ._attention import gaps as gaps
from ._critical import CriticalBeta as CriticalBeta
from ._critical import critical_scan as critical_scan
from ._critical import find_critical_beta as find_critical_beta
from ._estimators import Estimate as Estimate
from ._estimators import mc_estimate as mc_estimate
from ._estimators import mc_estimates as mc_estimates
from ._fit import PowerLawFit as PowerLawFit
from ._fit import fit_power_law as fit_power_law
from ._laws import AbstractGapLaw as AbstractGapLaw
from ._laws import AbstractLaw as AbstractLaw
from ._laws import PowerDensity as PowerDensity
from ._laws import Subsphere as Subsphere
from ._laws import UniformSphere as UniformSphere
from ._laws._empirical import EmpiricalKeys as EmpiricalKeys
from ._laws._empirical import LocalExponent as LocalExponent
from ._laws._empirical import estimate_local_exponent as estimate_local_exponent
from ._laws._empirical import load_keys as load_keys
from ._laws._simplex import Simplex as Simplex
from ._laws._simplex import simplex_self_weight as simplex_self_weight
from ._laws._vmf import VonMisesFisher as VonMisesFisher
from ._laws._vmf import VonMisesFisherMixture as VonMisesFisherMixture
from ._observables import AbstractObservable as AbstractObservable
from ._observables import AbstractSummaryObservable as AbstractSummaryObservable
from ._observables import Atoms as Atoms
from ._observables import Summary as Summary
from ._observables import TopKMass as TopKMass
from ._observables import effective_size as effective_size
from ._observables import entropy as entropy
from ._observables import max_weight as max_weight
from ._observables import participation_ratio as participation_ratio
from ._observables import top_k_mass as top_k_mass
from ._schedules._fit import ScheduleFit as ScheduleFit
from ._schedules._fit import fit_schedule as fit_schedule
from ._schedules._regime import RegimeMap as RegimeMap
from ._schedules._regime import critical_betas as critical_betas
from ._schedules._regime import regime_map as regime_map
from ._schedules._schedule import AbstractSchedule as AbstractSchedule
from ._schedules._schedule import Constant as Constant
from ._schedules._schedule import Llama4 as Llama4
from ._schedules._schedule import LongRoPE as LongRoPE
from ._schedules._schedule import PowerLaw as PowerLaw
from ._schedules._schedule import QwenLogN as QwenLogN
from ._schedules._schedule import ScalableSoftmax as ScalableSoftmax
from ._schedules._schedule import YaRN as YaRN
from ._schedules._schedule import schedule_from_name as schedule_from_name
from ._validation import ArgumentTypeError as ArgumentTypeError
from ._validation import ArgumentValueError as ArgumentValueError

try:
    __version__ = importlib.metadata.version("lattn-jax")
except importlib.metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"
