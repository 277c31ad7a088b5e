// Package versions converts built-in kinds between the versions the API server serves them at
// and the version it stores them at, as kube-apiserver's scheme conversions do: an
// autoscaling/v1 HorizontalPodAutoscaler is stored as autoscaling/v2, the fields v1 cannot
// express carried in the annotations upstream uses for the round trip.
package versions
