"""The stored chat completions API: lenient models and the HTTP client."""
