//! pressbot-cms
