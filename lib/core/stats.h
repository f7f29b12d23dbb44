/* Small statistics helpers shared by the audit, mask and probe modules. Not installed. */
#ifndef WMF_LIB_CORE_STATS_H
#define WMF_LIB_CORE_STATS_H

#include <stddef.h>

/* The q-quantile (0 <= q <= 1) of n >= 1 ascending values, linearly interpolated: position q (n - 1),
 * a = value below (floor), b = above (ceil), weight w = position - below, and the two-sided lerp of
 * numpy and ATen: a + w (b - a) when w < 0.5, else b - (b - a)(1 - w). `fused` rounds each branch
 * once, as torch.quantile does on x86-64 CPUs (ATen's vectorized lerp uses fmadd / fnmadd), so the
 * result equals torch.quantile(x, q) for float64 x bit for bit; unfused it equals numpy.quantile(x, q)
 * (method "linear"). They differ in the last bit in about 2 % of cases. */
double wmfi_quantile_sorted(const double *sorted, size_t n, double q, int fused);

/* Sorts n NaN-free doubles ascending. */
void wmfi_sort_doubles(double *v, size_t n);

#endif
