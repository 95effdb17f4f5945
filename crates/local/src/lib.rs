//! pressbot-local
