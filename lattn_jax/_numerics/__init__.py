"""Numerics: special functions, Bessel ratios, quadrature and root-finding."""
