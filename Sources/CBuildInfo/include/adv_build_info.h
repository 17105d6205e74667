// The commit `adv` was built from, stamped by `make` (docs/architecture.md, "Version").
#ifndef ADV_BUILD_INFO_H
#define ADV_BUILD_INFO_H

/// The git commit of the build ("abc1234", "abc1234-dirty"), or "unknown" when the binary was
/// built with plain `swift build` (no stamp written).
const char *adv_build_commit(void);

#endif
