//! The back office over the API: staff and administrators only, with the HTML back
//! office's rules and audit entries.
