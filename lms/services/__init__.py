"""Write operations of the platform. Each takes the session and the acting person (``None``
for the command line), checks permission, flushes, and never commits."""
