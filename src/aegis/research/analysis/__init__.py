"""AI outlook: a keyless quant analyst (the default) and LLM providers (OpenAI-compatible,
Gemini) that fall back to it."""
