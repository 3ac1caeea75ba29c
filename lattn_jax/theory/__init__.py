"""Theory to compare simulations against: closed forms and limit laws of
attention over ``n`` random keys, by regime (one private module per concept)."""

from ._exponents import critical_exponent as critical_exponent
