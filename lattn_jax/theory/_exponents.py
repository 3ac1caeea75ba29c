"""Critical exponents: how beta* scales with n."""

from jaxtyping import Array, Float

from .._laws import AbstractLaw, as_law
from .._validation import ArgumentValueError
from ._args import as_float_array


def critical_exponent(d_or_law: "int | AbstractLaw") -> Float[Array, ""]:
    """The exponent ``p`` in ``beta*_n ~ n^p``: ``2 / alpha`` with ``alpha`` the
    local exponent of the distance-to-query law (``alpha = d - 1`` for uniform
    keys on ``S^{d-1}``, so ``p = 2 / (d - 1)``); any law that declares its
    ``local_exponent``.

    Examples:
        >>> round(float(critical_exponent(4)), 6)
        0.666667
    """
    law = as_law("d", d_or_law)
    if law.local_exponent is None:
        raise ArgumentValueError(
            f"d_or_law: {type(law).__name__} has no known local exponent; estimate it from keys with "
            "estimate_local_exponent"
        )
    return as_float_array(2.0 / float(law.local_exponent))
