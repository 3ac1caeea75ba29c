"""Critical exponents: how beta* scales with n."""

from .._laws import AbstractLaw
from .._validation import check_int


def critical_exponent(d_or_law: "int | AbstractLaw") -> float:
    """The exponent ``p`` in ``beta*_n ~ n^p``: ``2 / alpha`` with ``alpha`` the
    local exponent of the distance-to-query law (``alpha = d - 1`` for uniform
    keys on ``S^{d-1}``, so ``p = 2 / (d - 1)``).

    Example:
        >>> critical_exponent(4)
        0.6666666666666666
    """
    if isinstance(d_or_law, AbstractLaw):
        if d_or_law.local_exponent is None:
            raise ValueError(
                f"{type(d_or_law).__name__} has no known local exponent; estimate it from keys with "
                "estimate_local_exponent"
            )
        return 2.0 / float(d_or_law.local_exponent)
    d = check_int("d", d_or_law, minimum=2)
    return 2.0 / (d - 1)
