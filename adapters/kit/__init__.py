"""The platform kit: machinery every platform folder shares (issue #17), so a platform
module says only how its platform differs. Imports no platform folder."""
