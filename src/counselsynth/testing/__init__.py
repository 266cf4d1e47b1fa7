"""The project's test doubles, each a real server on 127.0.0.1 that answers at the HTTP boundary
(as httpx's `MockTransport` does for a client), so that the code under test runs its real
network path and nothing in the project is mocked.

- `loopback`: an OpenAI-compatible chat-completions server for the litellm path
  (`python -m counselsynth.testing.loopback`).
- `translation`: the loopback server's translator, for `augment`.
- `hub`: a Hugging Face hub for `publish` (`python -m counselsynth.testing.hub`).
- `localserver`: not a double but a real model on this machine (llama-cpp-python's server on a
  GGUF file) for the real-model test and `bench/real_model.py`.

Each double is strict: a request it does not expect is recorded and refused, so a test can assert
that only the expected calls were made. None of this is imported by the product's own code.
"""
