// cairo (Debian libcairo2-dev): rasterizes figures to PNG (Sources/Runtime/Figures/CairoRenderer.swift).
#include <cairo/cairo.h>
