"""The checker: syntax tree -> typed program."""
