"""Local fake broker servers that follow shared docs/protocols.md, with fault modes."""
