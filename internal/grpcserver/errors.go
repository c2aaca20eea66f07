package grpcserver

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/openpacific/pacific/internal/apierr"
)

// translate is the one table from internal errors to what a caller sees.
func translate(ctx context.Context, logger *slog.Logger, method string, err error) error {
	if err == nil {
		return nil
	}
	var apiErr *apierr.Error
	switch {
	case errors.As(err, &apiErr):
		if apiErr.Cause != nil {
			logger.DebugContext(ctx, "api error", "method", method, "code", apiErr.Code.String(), "cause", apiErr.Cause)
		}
		return apiErr.GRPCStatus().Err()
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	}
	if st, ok := status.FromError(err); ok {
		return st.Err()
	}
	logger.ErrorContext(ctx, "internal error", "method", method, "err", err)
	return status.Error(codes.Internal, "internal error (details are in the server log)")
}

func errorsUnary(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		return resp, translate(ctx, logger, info.FullMethod, err)
	}
}

func errorsStream(logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return translate(ss.Context(), logger, info.FullMethod, handler(srv, ss))
	}
}
