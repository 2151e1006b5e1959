package bio

// CrystallizeReference is the float64 reference of crystallization, for the external tests.
var CrystallizeReference = crystallizeRef
