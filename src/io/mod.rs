//! The I/O layer between the WSGI layer and the workers: what a connection's byte stream offers,
//! independent of how a worker class waits on it.

pub mod transport;
