// Placeholder until the work queue lands; delete when a real source exists.
