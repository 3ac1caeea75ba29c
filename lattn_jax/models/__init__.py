"""Real models: a JAX/equinox BERT encoder read from a Hugging Face directory
(the bundled all-MiniLM-L6-v2 by default), a reproducible real-text corpus,
and the per-head query/key pools gathered over it.

Not imported by ``import lattn_jax`` (it keeps the top level light); use
``from lattn_jax import models`` or ``import lattn_jax.models``.
"""

from ._bert import Bert as Bert
from ._bert import load_bert as load_bert
from ._corpus import Corpus as Corpus
from ._corpus import default_corpus as default_corpus
from ._corpus import read_corpus as read_corpus
from ._pools import HeadPools as HeadPools
from ._pools import gather_pools as gather_pools

# isort: split
from ._heads import HeadReport as HeadReport
from ._heads import HeadScores as HeadScores
from ._heads import analyze_heads as analyze_heads
from ._heads import estimate_score_exponent as estimate_score_exponent
from ._heads import fit_scaling_laws as fit_scaling_laws
from ._heads import head_scores as head_scores
from ._heads import published_schedules as published_schedules
from ._heads import random_pools as random_pools
from ._heads import report_from_json as report_from_json
from ._heads import report_to_json as report_to_json
