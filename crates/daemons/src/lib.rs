//! pressbot-daemons
