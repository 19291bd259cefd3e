"""The diagnostic model, the registry of codes and the renderers."""
