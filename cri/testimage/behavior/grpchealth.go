package behavior

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// GRPCService is the service name, besides "", the gRPC health server knows.
const GRPCService = "ckimage"

// NewGRPCHealthServer serves grpc.health.v1 for s (serve-hostname --grpc-port): Check of
// service "" or GRPCService answers SERVING while s is healthy (what /healthz answers),
// NOT_SERVING after --fail-after or POST /fail; any other service is NOT_FOUND.
func NewGRPCHealthServer(s *Server) *grpc.Server {
	g := grpc.NewServer()
	healthpb.RegisterHealthServer(g, &grpcHealth{s: s})
	return g
}

type grpcHealth struct {
	healthpb.UnimplementedHealthServer
	s *Server
}

func (h *grpcHealth) status(service string) (healthpb.HealthCheckResponse_ServingStatus, error) {
	if service != "" && service != GRPCService {
		return healthpb.HealthCheckResponse_SERVICE_UNKNOWN, status.Errorf(codes.NotFound, "unknown service %q", service)
	}
	if h.s.Healthy() {
		return healthpb.HealthCheckResponse_SERVING, nil
	}
	return healthpb.HealthCheckResponse_NOT_SERVING, nil
}

// Check implements grpc_health_v1.HealthServer.
func (h *grpcHealth) Check(_ context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	st, err := h.status(req.GetService())
	if err != nil {
		return nil, err
	}
	return &healthpb.HealthCheckResponse{Status: st}, nil
}
