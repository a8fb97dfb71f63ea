"""Worker classes that need Python-level machinery (the gevent hub); the others are all Rust."""
