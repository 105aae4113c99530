//! The Python client's (`grantex-gemma` 0.1.x) own audit log format: read and verify
//! only. **The hosted Grantex service rejects these entries.**
