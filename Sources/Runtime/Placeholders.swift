// Placeholders for types the interpreter issue fills in (Closure, Module). Replace, don't keep.
public final class Closure {}
public final class Module {}
