#include "optimizer/passes/precision/precision_conversion.h"

#include "optimizer/passes/precision/convert_float16.h"
#include "optimizer/passes/precision/quantize_dynamic_int8.h"

namespace graphopt {

Status CheckConversions(const std::string& quantize, const std::string& precision,
                        const TargetProfile& target) {
  if (!quantize.empty() && quantize != "dynamic-int8") {
    return InvalidArgument("unknown quantization '" + quantize + "' (known: dynamic-int8)");
  }
  if (!precision.empty() && precision != "fp32" && precision != "fp16") {
    return InvalidArgument("unknown precision '" + precision + "' (known: fp32, fp16)");
  }
  if (precision == "fp16") {
    if (!target.precisions.count("float16")) {
      std::string why = target.precision_note.empty() ? "" : ": " + target.precision_note;
      return InvalidArgument("target " + target.name + " does not declare float16 compute" + why);
    }
    if (!quantize.empty()) {
      return InvalidArgument(
          "quantize and precision fp16 convert the same weights two ways; ask for one of them");
    }
  }
  return Status::Ok();
}

Result<std::vector<ConversionStats>> ApplyConversions(ir::Model& model, const std::string& quantize,
                                                      const std::string& precision,
                                                      const TargetProfile& target) {
  RETURN_IF_ERROR(CheckConversions(quantize, precision, target));
  std::vector<ConversionStats> done;
  if (quantize == "dynamic-int8") done.push_back(QuantizeDynamicInt8(model, target));
  if (precision == "fp16") done.push_back(ConvertFloat16(model));
  return done;
}

}  // namespace graphopt
