"""Built-in plugins: ordinary plugins that use only public hooks, so an operator can block or replace them."""
