"""Forms of the quiz screens, one module per screen family (bank, builder, taking, results)."""
