#include "optimizer/ir/printer.h"

#include <onnx/defs/printer.h>
#include <onnx/onnx_pb.h>

#include <sstream>

#include "optimizer/ir/onnx_convert.h"

namespace graphopt::ir {

std::string ModelText(Model& model) {
  onnx::ModelProto proto;
  // Large initializers go out as external references: only their names and types print.
  ModelToProto(model, &proto, /*lend_bytes=*/false,
               [](const std::string& name, const Tensor& t, onnx::TensorProto* tp) {
                 if (t.size() <= 16) return false;
                 tp->set_name(name);
                 tp->set_data_type(static_cast<int32_t>(t.dtype()));
                 for (int64_t d : t.shape()) tp->add_dims(d);
                 tp->set_data_location(onnx::TensorProto::EXTERNAL);
                 auto* location = tp->add_external_data();
                 location->set_key("location");
                 location->set_value("(elided)");
                 return true;
               });
  std::ostringstream out;
  out << proto.graph();
  return out.str();
}

}  // namespace graphopt::ir
