// The commit `adv` was built from. `make` writes stamp.h (git-ignored) with ADV_GIT_COMMIT only
// when it changes, so a new commit recompiles this one file; without it (plain `swift build`)
// the commit reads "unknown" and the build still works (docs/architecture.md, "Version").
#include "adv_build_info.h"

#if __has_include("stamp.h")
#include "stamp.h"
#endif

#ifndef ADV_GIT_COMMIT
#define ADV_GIT_COMMIT "unknown"
#endif

const char *adv_build_commit(void) { return ADV_GIT_COMMIT; }
