package pluginhost

import (
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"

	warehousev1 "github.com/segflow/segflow/plugins/proto/warehouse/v1"
)

// resultCodec decodes QueryResponse messages without copying their Arrow
// bytes a second time: the protobuf runtime copies every bytes field, and
// result streams are almost nothing but one bytes field. Everything else
// goes to the standard proto codec. It only changes how this side parses;
// the wire format is plain protobuf.
type resultCodec struct{ proto encoding.CodecV2 }

func (c resultCodec) Name() string                           { return c.proto.Name() }
func (c resultCodec) Marshal(v any) (mem.BufferSlice, error) { return c.proto.Marshal(v) }

func (c resultCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*warehousev1.QueryResponse)
	if !ok {
		return c.proto.Unmarshal(data, v)
	}
	// Materialize copies gRPC's pooled frames into a slice we own, which
	// the Arrow arrays then alias.
	b := data.Materialize()
	m.Reset()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("decode QueryResponse: %w", protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fmt.Errorf("decode QueryResponse: %w", protowire.ParseError(n))
			}
			m.ArrowIpc, b = v, b[n:]
		case num == 2 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return fmt.Errorf("decode QueryResponse: %w", protowire.ParseError(n))
			}
			m.End, b = v != 0, b[n:]
		case num == 3 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return fmt.Errorf("decode QueryResponse: %w", protowire.ParseError(n))
			}
			m.TotalRows, b = int64(v), b[n:]
		default: // a field a newer plugin added: skip it
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return fmt.Errorf("decode QueryResponse: %w", protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	return nil
}

// callOptions make every call on a plugin connection use resultCodec.
func callOptions() grpc.DialOption {
	return grpc.WithDefaultCallOptions(grpc.ForceCodecV2(resultCodec{proto: encoding.GetCodecV2("proto")}))
}
