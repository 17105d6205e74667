// Lang: tokens, lexer, parser, AST, source spans and diagnostics. Knows nothing of tensors.
