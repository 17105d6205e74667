// The `adv` command line (thin): see Runtime for everything it drives.
import Runtime
print("adv: not yet built")
